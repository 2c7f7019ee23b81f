"""The static files' storage in production (settings.STORAGES): WhiteNoise's compressed, hashed
files, with each file's address worked out once per process. Django reads the manifest of hashed
names when the storage is made and keeps it unchanged while the process runs, so the address of a
name does not change either; working it out again (the manifest's lookup, splitting and quoting the
name) for the eight `{% static %}` of every page took about half a millisecond of it."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._addresses: dict[str, str] = {}

    def url(self, name, force=False):
        if force or not self.hashed_files:  # collectstatic, or no manifest yet: as Django does it
            return super().url(name, force)
        address = self._addresses.get(name)
        if address is None:
            address = self._addresses[name] = super().url(name)
        return address

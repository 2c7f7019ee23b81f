from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from migrations_app.models import PracticeMigration


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    migrations = PracticeMigration.objects.visible_to(request.user).select_related("practice")
    return render(request, "migrations_app/home.html", {"migrations": migrations})

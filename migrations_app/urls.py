from django.urls import path

from migrations_app import views

app_name = "migrations"

urlpatterns = [
    path("", views.home, name="home"),
]

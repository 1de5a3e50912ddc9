"""URLs of the collections workbench, under /collections/."""

from django.urls import path

from . import views

app_name = "collections"

urlpatterns = [
    # --- Contacts under the conduct rules ---
    path("cases/<int:case_id>/contacts/", views.case_contacts, name="case_contacts"),
]

"""URLs of the audit trail, under /audit/."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.AuditEventListView.as_view(), name="event_list"),
    # The list's own export (?_export=csv) under the address bookmarks and scripts already use.
    path("export.csv", views.AuditEventListView.as_view(export_format="csv"), name="event_export"),
    path("reveal/<str:app_label>/<str:model>/<int:pk>/<str:field>/", views.pii_reveal, name="reveal"),
]

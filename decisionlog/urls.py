"""URLs of the decision log's console pages, under /decision-log/."""

from django.urls import path

from . import views

app_name = "decisionlog"

urlpatterns = [
    path("", views.DecisionLogListView.as_view(), name="entry_list"),
    path("<int:sequence>/", views.entry_detail, name="entry_detail"),
    path("verification/", views.verification, name="verification"),
    path("verification/run/", views.verification_start, name="verification_start"),
    path("anchors/", views.anchors, name="anchors"),
]

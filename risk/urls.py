"""URLs of the risk console, under /risk/."""

from django.urls import path

from . import views

app_name = "risk"

urlpatterns = [
    path("scorecards/", views.ScorecardListView.as_view(), name="scorecard_list"),
    path("scorecards/<int:scorecard_version_id>/", views.version_detail, name="version_detail"),
    path("scorecards/<int:scorecard_version_id>/copy/", views.version_copy, name="version_copy"),
    path("scorecards/<int:scorecard_version_id>/request/", views.version_request, name="version_request"),
    path("scorecards/<int:scorecard_version_id>/decide/", views.version_decide, name="version_decide"),
    path("scores/", views.ScoreListView.as_view(), name="score_list"),
    path("approvals/", views.ApprovalsView.as_view(), name="approvals"),
    path("approvals/<int:limit_change_id>/decide/", views.limit_change_decide, name="limit_change_decide"),
    path("customers/<int:customer_id>/", views.customer_risk, name="customer_risk"),
]

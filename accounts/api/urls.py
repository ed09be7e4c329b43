from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/tokens/", views.TokenList.as_view(), name="tokens"),
    path("auth/tokens/<str:token_id>/", views.TokenDetail.as_view(), name="token"),
    path("me/", views.MeView.as_view(), name="me"),
]

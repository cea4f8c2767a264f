from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from llm import logins, metrics, views

urlpatterns = [
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/v1/llm/", include("llm.doors.urls")),
    path("ollama/", include("llm.doors.ollama_urls")),
    path("v1/", include("llm.doors.openai_urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(authentication_form=logins.LoginForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("llm.dashboard.urls")),
]

handler400 = "llm.views.bad_request"
handler403 = "llm.views.permission_denied"
handler404 = "llm.views.page_not_found"
handler500 = "llm.views.server_error"

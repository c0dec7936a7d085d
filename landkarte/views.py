"""Sign-in, the home page per role and the dashboard."""

from django.contrib.auth import views as auth_views

from landkarte.pages import Page


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class HomeView(Page):
    template_name = "landkarte/home.html"

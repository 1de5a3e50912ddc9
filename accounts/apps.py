"""App config for staff users, roles, customers and their credit lines."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and credit"

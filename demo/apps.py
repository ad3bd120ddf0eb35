from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`make demo`: the whole product on one machine, with demo data and the CRM sandbox. Nothing imports it."""

    name = "demo"

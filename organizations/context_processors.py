from django.utils.functional import SimpleLazyObject

from .models import Notification


def current_organization(request):
    if not getattr(request, "membership", None):
        return {}
    return {
        "organization": request.organization,
        "membership": request.membership,
        "other_memberships": [m for m in request.memberships if m.pk != request.membership.pk],
        # Counted only when a page shows it; htmx partials (the customer typeahead) do not.
        "unread_notifications": SimpleLazyObject(
            lambda: Notification.objects.filter(
                user=request.user, organization=request.organization, read_at__isnull=True
            ).count()
        ),
    }

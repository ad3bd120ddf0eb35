from .models import Membership, Notification


def current_organization(request):
    if not getattr(request, "membership", None):
        return {}
    return {
        "organization": request.organization,
        "membership": request.membership,
        "other_memberships": Membership.objects.filter(user=request.user)
        .exclude(pk=request.membership.pk)
        .select_related("organization"),
        "unread_notifications": Notification.objects.filter(
            user=request.user, organization=request.organization, read_at__isnull=True
        ).count(),
    }

"""Role checks, in one place. Every view goes through `role_required`."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

READ_ROLES = ("admin", "finance", "ops")
EDIT_ROLES = ("admin", "finance")
ADMIN_ROLES = ("admin",)


def role_required(*roles: str):
    """Let the view run only for a logged-in member of the current organization with one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None or membership.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

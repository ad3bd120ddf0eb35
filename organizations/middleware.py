from .models import Membership

SESSION_KEY = "organization_id"


class CurrentOrganizationMiddleware:
    """Puts the user's memberships, current organization and membership on the request.

    The current organization is kept in the session; a user who belongs to several can switch.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.memberships = []
        request.membership = None
        request.organization = None
        if request.user.is_authenticated:
            # One query for all of them: the header's organization switcher shows the others.
            request.memberships = list(Membership.objects.filter(user=request.user).select_related("organization"))
            chosen = request.session.get(SESSION_KEY)
            membership = None
            if chosen is not None:
                membership = next((m for m in request.memberships if m.organization_id == chosen), None)
            if membership is None:
                membership = next(iter(request.memberships), None)
                if membership is not None:
                    request.session[SESSION_KEY] = membership.organization_id
            request.membership = membership
            request.organization = membership.organization if membership else None
        return self.get_response(request)

"""Named actors used across the tests: an admin, a finance user and an ops user of one organization,
and an outsider who is admin of another organization."""

from dataclasses import dataclass

import pytest
from django.test import Client

from .factories import MembershipFactory, OrganizationFactory


@dataclass
class Actors:
    organization: object
    other_organization: object
    admin: object
    finance: object
    ops: object
    outsider: object

    def client_for(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def actors(db) -> Actors:
    organization = OrganizationFactory(name="Acme Books")
    other = OrganizationFactory(name="Other Org")
    return Actors(
        organization=organization,
        other_organization=other,
        admin=MembershipFactory(organization=organization, role="admin").user,
        finance=MembershipFactory(organization=organization, role="finance").user,
        ops=MembershipFactory(organization=organization, role="ops").user,
        outsider=MembershipFactory(organization=other, role="admin").user,
    )

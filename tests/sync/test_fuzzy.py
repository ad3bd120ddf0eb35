"""Possible duplicates: found for each way the same party is written otherwise, not for other parties."""

import pytest

from sync import fuzzy


def best(crm: fuzzy.Party, *erp: fuzzy.Party):
    found = fuzzy.suggest([crm], list(erp))
    return found[0] if found else None


@pytest.mark.parametrize("erp_name,crm_name", [
    ("Acme Trading Ltd", "ACME TRADING LTD"),  # case
    ("Müller Bäckerei GmbH", "Muller Backerei GmbH"),  # accents
    ("Smith & Sons, Inc.", "Smith Sons Inc"),  # punctuation
    ("Blue   Harbor  Foods", "Blue Harbor Foods"),  # spacing
    ("Acme Trading Ltd", "Acme Trading Limited"),  # legal form spelled out
    ("Northwind Logistics Incorporated", "Northwind Logistics Inc."),
    ("Iberia Moveis S.A.", "Iberia Moveis SA"),
    ("Harbor Blue Foods", "Blue Harbor Foods"),  # word order
    ("Northwind Logistics", "Nortwind Logistics"),  # a letter missing
    ("Northwind Logistics", "Northwimd Logistics"),  # a letter wrong
])
def test_the_same_party_written_otherwise_is_suggested_above_the_default_score(erp_name, crm_name):
    suggestion = best(fuzzy.Party(key="crm-1", name=crm_name), fuzzy.Party(key=1, name=erp_name),
                      fuzzy.Party(key=2, name="Completely Different Co"))
    assert suggestion is not None and suggestion.erp.key == 1
    assert suggestion.score >= fuzzy.DEFAULT_SCORE and "name" in suggestion.agree


@pytest.mark.parametrize("erp_name,crm_name", [
    ("Northwind Logistics Ltd", "Northwind Textiles Ltd"),  # another word: another company
    ("Blue Harbor Foods", "Blue Harbor Motors"),
    ("Atlas 1 Ltd", "Atlas 2 Ltd"),
    ("Acme", "Acne"),  # a short word differing is another word
])
def test_other_parties_sharing_words_are_not_suggested_at_the_default_score(erp_name, crm_name):
    suggestion = best(fuzzy.Party(key="crm-1", name=crm_name), fuzzy.Party(key=1, name=erp_name))
    assert suggestion is None or suggestion.score < fuzzy.DEFAULT_SCORE


def test_different_legal_forms_lower_the_score():
    same = best(fuzzy.Party(key="c", name="Acme Ltd"), fuzzy.Party(key=1, name="ACME Limited"))
    other = best(fuzzy.Party(key="c", name="Acme Ltd"), fuzzy.Party(key=1, name="Acme Inc"))
    assert same.score == 100 and "legal form" in same.agree
    assert other.score < same.score


def test_people_are_matched_by_email_and_items_by_sku_without_separators():
    person = best(fuzzy.Party(key="c", name="Jon Smyth", email="JON@example.test"),
                  fuzzy.Party(key=1, name="Jonathan Smith", email="jon@example.test"))
    assert person is not None and "email" in person.agree and person.score >= fuzzy.DEFAULT_SCORE
    item = best(fuzzy.Party(key="c", name="Desk chair, black", sku="DC-100/B"),
                fuzzy.Party(key=1, name="Office chair", sku="dc 100 b"))
    assert item is not None and "SKU" in item.agree and item.score >= fuzzy.DEFAULT_SCORE


def test_each_erp_record_is_suggested_once_to_its_best_match():
    found = fuzzy.suggest([fuzzy.Party(key="a", name="Acme Trading Ltd"), fuzzy.Party(key="b", name="Acme Tradng Ltd")],
                          [fuzzy.Party(key=1, name="ACME TRADING LIMITED")])
    assert [(s.crm.key, s.erp.key) for s in found] == [("a", 1)]

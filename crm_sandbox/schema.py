"""What the sandbox's CRM org looks like: modules, their standard fields, layouts, custom views, users.

Field metadata is kept in Zoho's own JSON shape (`GET /settings/fields`), so the same dicts are served
to clients and read by the validator; nothing is described twice.
"""

import re

# Every id in the org shares Zoho's long per-org prefix. Metadata ids sit below record ids.
ID_BASE = 5843104000000000000
ORG_ID = ID_BASE + 1001
ZGID = "700012345"

USERS = [
    {
        "id": str(ID_BASE + 424672), "zuid": "700012300", "email": "ana.ruiz@zylker.test",
        "full_name": "Ana Ruiz", "first_name": "Ana", "last_name": "Ruiz",
        "role": {"name": "Chief Executive", "id": str(ID_BASE + 26005)},
        "profile": {"name": "Administrator", "id": str(ID_BASE + 26011)},
    },
    {
        "id": str(ID_BASE + 424701), "zuid": "700012301", "email": "ben.okafor@zylker.test",
        "full_name": "Ben Okafor", "first_name": "Ben", "last_name": "Okafor",
        "role": {"name": "Sales Manager", "id": str(ID_BASE + 26007)},
        "profile": {"name": "Standard", "id": str(ID_BASE + 26014)},
    },
    {
        "id": str(ID_BASE + 424733), "zuid": "700012302", "email": "chen.li@zylker.test",
        "full_name": "Chen Li", "first_name": "Chen", "last_name": "Li",
        "role": {"name": "Sales Representative", "id": str(ID_BASE + 26009)},
        "profile": {"name": "Standard", "id": str(ID_BASE + 26014)},
    },
]
USERS_BY_ID = {user["id"]: user for user in USERS}
# The token's owner: the sandbox has one connected user, the org's administrator.
CURRENT_USER = USERS[0]

MODULES = {
    "Accounts": {"id": str(ID_BASE + 2175), "singular": "Account", "name_field": "Account_Name", "dup": "Account_Name"},
    "Contacts": {"id": str(ID_BASE + 2179), "singular": "Contact", "name_field": "Full_Name", "dup": "Email"},
    "Vendors": {"id": str(ID_BASE + 2183), "singular": "Vendor", "name_field": "Vendor_Name", "dup": "Vendor_Name"},
    "Products": {"id": str(ID_BASE + 2187), "singular": "Product", "name_field": "Product_Name", "dup": "Product_Name"},
}

# Fields the server maintains itself; writes to them are ignored, as Zoho does.
SYSTEM_FIELDS = {"Created_Time", "Modified_Time", "Created_By", "Modified_By"}

JSON_TYPES = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string", "website": "string",
    "picklist": "string", "date": "string", "datetime": "string", "integer": "integer", "bigint": "string",
    "double": "double", "currency": "double", "percent": "double", "boolean": "boolean",
    "lookup": "jsonobject", "ownerlookup": "jsonobject", "userlookup": "jsonobject",
    "multiselectpicklist": "jsonarray",
}
DEFAULT_LENGTHS = {
    "text": 255, "textarea": 32000, "email": 100, "phone": 30, "website": 255, "picklist": 120, "integer": 9,
    "bigint": 18, "double": 16, "currency": 16, "percent": 5, "boolean": 5, "date": 20, "datetime": 120,
    "lookup": 120, "ownerlookup": 120, "userlookup": 120, "multiselectpicklist": 2000,
}
CREATABLE_TYPES = {"text", "textarea", "email", "phone", "website", "picklist", "integer", "double", "currency",
                   "percent", "boolean", "date", "datetime", "multiselectpicklist"}

_NONE = "-None-"
INDUSTRIES = ["Technology", "Retail", "Manufacturing", "Healthcare", "Finance", "Education", "Hospitality",
              "Construction", "Logistics", "Media"]
ACCOUNT_TYPES = ["Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor", "Other", "Partner",
                 "Press", "Prospect", "Reseller", "Supplier", "Vendor"]
LEAD_SOURCES = ["Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "Partner",
                "Public Relations", "Trade Show", "Web Download", "Web Research", "Chat"]
GL_ACCOUNTS = ["Sales-Software", "Sales-Hardware", "Rental-Income", "Interest-Income", "Sales-Software-Support",
               "Sales-Other", "Interest-Sales", "Service-Hardware-Labor"]
USAGE_UNITS = ["Box", "Carton", "Dozen", "Each", "Hour(s)", "Impressions", "Lb", "M", "Pack", "Pages", "Pieces",
               "Quantity", "Reams", "Sheet", "Spiral Binder", "Square Feet"]

# (api_name, label, data_type, extras). Extras: length, mandatory, read_only, values, lookup, layout, custom.
_SYSTEM = [
    ("Created_By", "Created By", "ownerlookup", {"read_only": True}),
    ("Modified_By", "Modified By", "ownerlookup", {"read_only": True}),
    ("Created_Time", "Created Time", "datetime", {"read_only": True}),
    ("Modified_Time", "Modified Time", "datetime", {"read_only": True}),
]


def _address(prefix: str, code: str) -> list:
    return [
        (f"{prefix}_Street", f"{prefix} Street", "text", {"length": 250}),
        (f"{prefix}_City", f"{prefix} City", "text", {"length": 30}),
        (f"{prefix}_State", f"{prefix} State", "text", {"length": 30}),
        (f"{prefix}_{code}", f"{prefix} {code.replace('_', ' ')}", "text", {"length": 30}),
        (f"{prefix}_Country", f"{prefix} Country", "text", {"length": 30}),
    ]


_STANDARD = {
    "Accounts": [
        ("Account_Name", "Account Name", "text", {"length": 200, "mandatory": True}),
        ("Account_Number", "Account Number", "text", {"length": 40}),
        ("Account_Site", "Account Site", "text", {"length": 80}),
        ("Account_Type", "Account Type", "picklist", {"values": ACCOUNT_TYPES}),
        ("Parent_Account", "Parent Account", "lookup", {"lookup": "Accounts"}),
        ("Ownership", "Ownership", "picklist", {"values": ["Other", "Private", "Public", "Subsidiary", "Partnership",
                                                         "Government"]}),
        ("Rating", "Rating", "picklist", {"values": ["Acquired", "Active", "Market Failed", "Project Cancelled",
                                                   "Shut Down"]}),
        ("SIC_Code", "SIC Code", "integer", {}),
        ("Ticker_Symbol", "Ticker Symbol", "text", {"length": 30}),
        ("Phone", "Phone", "phone", {}),
        ("Fax", "Fax", "phone", {}),
        ("Website", "Website", "website", {}),
        ("Industry", "Industry", "picklist", {"values": INDUSTRIES}),
        ("Employees", "Employees", "integer", {}),
        ("Annual_Revenue", "Annual Revenue", "currency", {}),
        *_address("Billing", "Code"),
        *_address("Shipping", "Code"),
        ("Description", "Description", "textarea", {}),
        ("Wholesale_Discount", "Wholesale Discount", "percent", {"custom": True, "layout": "Wholesale"}),
    ],
    "Contacts": [
        ("First_Name", "First Name", "text", {"length": 40}),
        ("Last_Name", "Last Name", "text", {"length": 80, "mandatory": True}),
        ("Full_Name", "Contact Name", "text", {"read_only": True}),
        ("Salutation", "Salutation", "picklist", {"values": ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]}),
        ("Title", "Title", "text", {"length": 100}),
        ("Department", "Department", "text", {"length": 30}),
        ("Date_of_Birth", "Date of Birth", "date", {}),
        ("Email", "Email", "email", {}),
        ("Secondary_Email", "Secondary Email", "email", {}),
        ("Email_Opt_Out", "Email Opt Out", "boolean", {}),
        ("Phone", "Phone", "phone", {}),
        ("Mobile", "Mobile", "phone", {}),
        ("Home_Phone", "Home Phone", "phone", {}),
        ("Other_Phone", "Other Phone", "phone", {}),
        ("Fax", "Fax", "phone", {}),
        ("Assistant", "Assistant", "text", {"length": 30}),
        ("Asst_Phone", "Asst Phone", "phone", {}),
        ("Account_Name", "Account Name", "lookup", {"lookup": "Accounts"}),
        ("Vendor_Name", "Vendor Name", "lookup", {"lookup": "Vendors"}),
        ("Reporting_To", "Reporting To", "lookup", {"lookup": "Contacts"}),
        ("Lead_Source", "Lead Source", "picklist", {"values": LEAD_SOURCES}),
        *_address("Mailing", "Zip"),
        *_address("Other", "Zip"),
        ("Description", "Description", "textarea", {}),
        ("Skype_ID", "Skype ID", "text", {"length": 50}),
        ("Twitter", "Twitter", "text", {"length": 50}),
        ("Partner_Tier", "Partner Tier", "picklist", {"custom": True, "layout": "Partner Contact",
                                                      "values": ["Silver", "Gold", "Platinum"]}),
    ],
    "Vendors": [
        ("Vendor_Name", "Vendor Name", "text", {"length": 120, "mandatory": True}),
        ("Email", "Email", "email", {}),
        ("Phone", "Phone", "phone", {}),
        ("Website", "Website", "website", {}),
        ("Category", "Category", "text", {"length": 50}),
        ("GL_Account", "GL Account", "picklist", {"values": GL_ACCOUNTS}),
        ("Street", "Street", "text", {"length": 250}),
        ("City", "City", "text", {"length": 30}),
        ("State", "State", "text", {"length": 30}),
        ("Zip_Code", "Zip Code", "text", {"length": 30}),
        ("Country", "Country", "text", {"length": 30}),
        ("Description", "Description", "textarea", {}),
        ("Email_Opt_Out", "Email Opt Out", "boolean", {}),
        ("Import_License", "Import License", "text", {"custom": True, "layout": "Overseas Vendor", "length": 40}),
    ],
    "Products": [
        ("Product_Name", "Product Name", "text", {"length": 120, "mandatory": True}),
        ("Product_Code", "Product Code", "text", {"length": 40}),
        ("Product_Category", "Product Category", "picklist", {"values": ["Hardware", "Software", "Services"]}),
        ("Manufacturer", "Manufacturer", "picklist", {"values": ["AltvetPet Inc.", "LexPro Inc.", "MetBeat Corp."]}),
        ("Product_Active", "Product Active", "boolean", {}),
        ("Unit_Price", "Unit Price", "currency", {}),
        ("Taxable", "Taxable", "boolean", {}),
        ("Commission_Rate", "Commission Rate", "currency", {}),
        ("Usage_Unit", "Usage Unit", "picklist", {"values": USAGE_UNITS}),
        ("Qty_in_Stock", "Qty in Stock", "double", {}),
        ("Qty_in_Demand", "Qty in Demand", "double", {}),
        ("Qty_Ordered", "Qty Ordered", "double", {}),
        ("Reorder_Level", "Reorder Level", "double", {}),
        ("Vendor_Name", "Vendor Name", "lookup", {"lookup": "Vendors"}),
        ("Handler", "Handler", "userlookup", {}),
        ("Sales_Start_Date", "Sales Start Date", "date", {}),
        ("Sales_End_Date", "Sales End Date", "date", {}),
        ("Support_Start_Date", "Support Start Date", "date", {}),
        ("Support_Expiry_Date", "Support Expiry Date", "date", {}),
        ("Description", "Description", "textarea", {}),
        ("Product_Type", "Product Type", "picklist", {"custom": True, "values": ["Goods", "Services"]}),
        ("Service_Hours", "Service Hours", "double", {"custom": True, "layout": "Service Item"}),
    ],
}

SECOND_LAYOUT = {"Accounts": "Wholesale", "Contacts": "Partner Contact", "Vendors": "Overseas Vendor",
                 "Products": "Service Item"}


def layouts(module: str) -> list[dict]:
    """Two layouts per module: Standard, and one that carries its own custom field."""
    base = ID_BASE + 91055 + 10 * list(MODULES).index(module)
    return [
        {"id": str(base), "name": "Standard", "api_name": "Standard"},
        {"id": str(base + 1), "name": SECOND_LAYOUT[module], "api_name": SECOND_LAYOUT[module].replace(" ", "_")},
    ]


def _picklist(values: list[str], field_id: int) -> list[dict]:
    items = [_NONE, *values]
    return [
        {"display_value": value, "actual_value": value, "id": str(ID_BASE + 3000000 + field_id % 100000 * 50 + n),
         "sequence_number": n + 1, "type": "used", "colour_code": None}
        for n, value in enumerate(items)
    ]


def build_field(module: str, field_id: int, api_name: str, label: str, data_type: str, extras: dict) -> dict:
    """One field in Zoho's metadata shape."""
    module_layouts = layouts(module)
    if extras.get("layout"):
        associated = [lay for lay in module_layouts if lay["name"] == extras["layout"]]
    else:
        associated = module_layouts
    lookup = {}
    if extras.get("lookup"):
        target = extras["lookup"]
        lookup = {"display_label": label, "api_name": api_name, "id": str(field_id + 500000),
                  "module": {"api_name": target, "id": MODULES[target]["id"]}}
    read_only = bool(extras.get("read_only"))
    return {
        "id": str(field_id),
        "api_name": api_name,
        "field_label": label,
        "display_label": label,
        "data_type": data_type,
        "json_type": JSON_TYPES[data_type],
        "length": extras.get("length", DEFAULT_LENGTHS[data_type]),
        "decimal_place": 2 if data_type in ("currency", "double", "percent") else None,
        "system_mandatory": bool(extras.get("mandatory")),
        "custom_field": bool(extras.get("custom")),
        "read_only": read_only,
        "field_read_only": read_only,
        "visible": True,
        "pick_list_values": _picklist(extras["values"], field_id) if "values" in extras else [],
        "lookup": lookup,
        "currency": {"rounding_option": "normal", "precision": 2} if data_type == "currency" else {},
        "unique": extras.get("unique") or {},
        "layout_associations": associated,
    }


def standard_fields(module: str) -> list[dict]:
    offset = ID_BASE + 2400000 + 1000 * list(MODULES).index(module)
    rows = [*_STANDARD[module], ("Owner", f"{MODULES[module]['singular']} Owner", "ownerlookup", {}), *_SYSTEM]
    return [build_field(module, offset + n, *row) for n, row in enumerate(rows, start=1)]


_STANDARD_CACHE = {module: standard_fields(module) for module in MODULES}


def fields_of(module: str, custom: list[dict]) -> list[dict]:
    """All fields of a module: the built-in ones and those created through the fields API."""
    return [*_STANDARD_CACHE[module], *custom]


def parse_id(value) -> int | None:
    """A record id as clients send it (a numeric string or number) -> int, or None when it cannot be one.

    SQLite integers are 64-bit, so anything longer is not an id rather than an overflow later on.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) >= 2**63:
        return None
    return int(text)


def api_name_from_label(label: str) -> str:
    """Zoho derives a custom field's api_name from its label: 'ERP Id' -> 'ERP_Id'."""
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")


def custom_views(module: str) -> list[dict]:
    """2-3 views per module; the first is the default 'All …' view without criteria."""
    base = ID_BASE + 87501 + 100 * list(MODULES).index(module)
    views = {
        "Accounts": [
            ("All Accounts", "ALLVIEWS", None),
            ("Technology Accounts", None, _cond("Industry", "equal", "Technology")),
            ("US Retail Accounts", None, _group("and", _cond("Industry", "equal", "Retail"),
                                                _cond("Billing_Country", "equal", "United States"))),
        ],
        "Contacts": [
            ("All Contacts", "ALLVIEWS", None),
            ("German Contacts", None, _cond("Mailing_Country", "equal", "Germany")),
            ("Trade Show Contacts", None, _group("or", _cond("Lead_Source", "equal", "Trade Show"),
                                                 _cond("Lead_Source", "equal", "Partner"))),
        ],
        "Vendors": [
            ("All Vendors", "ALLVIEWS", None),
            ("Hardware Vendors", None, _cond("Category", "equal", "Hardware")),
        ],
        "Products": [
            ("All Products", "ALLVIEWS", None),
            ("Active Products", None, _cond("Product_Active", "equal", True)),
            ("Services", None, _cond("Product_Type", "equal", "Services")),
        ],
    }[module]
    result = []
    for n, (name, system_name, criteria) in enumerate(views):
        result.append({
            "id": str(base + n), "name": name, "display_value": name, "system_name": system_name or name,
            "system_defined": system_name is not None, "default": n == 0, "category": "public_views",
            "access_type": "public", "favorite": None, "sort_by": None, "sort_order": None,
            "modified_time": None, "last_accessed_time": None, "criteria": criteria,
        })
    return result


def _cond(api_name: str, comparator: str, value) -> dict:
    return {"comparator": comparator, "field": {"api_name": api_name}, "value": value}


def _group(operator: str, *items: dict) -> dict:
    return {"group_operator": operator, "group": list(items)}


def default_org() -> dict:
    return {
        "id": str(ORG_ID), "zgid": ZGID, "primary_zuid": CURRENT_USER["zuid"], "domain_name": f"org{ZGID}",
        "company_name": "Zylker Corp", "primary_email": CURRENT_USER["email"], "phone": "+1 555 0100",
        "mobile": None, "fax": None, "website": "zylker.test", "employee_count": "120", "description": None,
        "alias": None, "street": "10 Harbor Way", "city": "Boston", "state": "MA", "zip": "02110",
        "country": "United States", "country_code": "US", "time_zone": "America/New_York",
        "currency": "US Dollar - USD", "currency_symbol": "$", "currency_locale": "en_US", "iso_code": "USD",
        "mc_status": False, "gapps_enabled": False, "privacy_settings": False, "type": "production",
        "hipaa_compliance_enabled": False, "max_per_page": 200, "photo_id": None,
        "license_details": {
            "paid": True, "paid_type": "professional", "paid_expiry": "2027-01-01T00:00:00-05:00",
            "users_license_purchased": 10, "trial_type": None, "trial_expiry": None, "trial_action": None,
        },
    }


def default_currencies() -> list[dict]:
    return [
        _currency(ID_BASE + 151001, "US Dollar - USD", "USD", "$", True, "1.000000000"),
        _currency(ID_BASE + 151003, "Euro - EUR", "EUR", "€", False, "0.920000000"),
        _currency(ID_BASE + 151005, "Indian Rupee - INR", "INR", "₹", False, "83.100000000"),
    ]


def _currency(currency_id: int, name: str, iso: str, symbol: str, is_base: bool, rate: str) -> dict:
    return {
        "id": str(currency_id), "name": name, "iso_code": iso, "symbol": symbol, "is_base": is_base,
        "is_active": True, "exchange_rate": rate, "prefix_symbol": True,
        "format": {"decimal_separator": "Period", "thousand_separator": "Comma", "decimal_places": "2"},
        "created_time": None, "created_by": None, "modified_time": None, "modified_by": None,
    }

"""A local server that speaks the Zoho CRM REST API (v8 shapes) for development, tests and benchmarks.

It imports nothing from the rest of the project; run it with `python -m crm_sandbox serve`.
"""

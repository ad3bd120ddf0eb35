"""The one seam to Zoho CRM: every HTTP call to the CRM goes through `client.CrmClient`."""

"""The sync engine: one generic engine over module adapters, a run split into phases.

    run.py           the phases of a run, in order, and the entry points (run_module, run_now, resync_link)
    slot.py          the running slot: claim, finish, reclaim runs whose worker died
    context.py       what a run's phases share (RunContext) and one adapter's share of it (AdapterRun)
    cursor.py        where a module's sync has got to in the CRM; the cursor's JSON shape; CRM times
    fetch.py         CRM → ERP listings: sorted by time with window restarts, or a view
    view_windows.py  a view past the page_token window, read by searches in time windows
    incoming.py      CRM records into the ERP, a page at a time: route, convert, load, plan, write
    deletions.py     records deleted in the CRM, and links a record leaves
    push.py          ERP → CRM: changed linked records, and new ones upserted by ERP id
    erp_id.py        the ERP id a pushed record carries in the CRM
    owners.py        record owners ⇄ CRM users
    adapters.py      what differs between the five kinds of record; which CRM modules a configuration reads
    mapping.py       field mapping with type conversion
    planner.py       the rules, as a pure function from a page to its actions
    loading.py       what the planner needs for a page, read in bulk
    applier.py       writing a page's actions in one transaction
    progress.py      a run's counters and issues
    bulk.py          COPY, pipelined updates, planner statistics
"""

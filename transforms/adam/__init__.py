"""ADaM builders driven by specs: ADSL, ADAE, ADRS and time-to-event (ADTTE)."""

"""ADaM builders driven by specs: time-to-event (ADTTE) and their record filters."""

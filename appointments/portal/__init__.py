"""The doctor's portal: their day, their week, their appointment lists, and their working hours
and time off (through hospital's schedule services, the ones the admin uses)."""

"""Read models built from the event stream, run by the arq workers."""

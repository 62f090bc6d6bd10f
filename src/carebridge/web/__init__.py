"""The UI shell: layout, rendering, flash messages, error pages, our own CSS and JS."""

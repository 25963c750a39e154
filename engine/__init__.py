"""Execute grid-governance cases on SpiffWorkflow: deploy, intake, tasks, audit. No Flask here."""

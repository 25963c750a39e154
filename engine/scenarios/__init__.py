"""Designers' scenario tests (processes/scenarios/*.toml) run through the real engine on a
throwaway copy of a city: the runner, the expectations, and a run's report with flow coverage."""

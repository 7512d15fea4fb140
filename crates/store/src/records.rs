//! Domain events as `hearth.*` record content (moves to hearth-tablet when the app arrives).

"""Model and data file formats. Each module exposes `analyze(source) -> FileResult`."""

// Placeholder entry point; the benchmark arrives with the engine.
return 0;

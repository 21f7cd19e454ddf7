using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Orchestrator.Tests.Unit")]

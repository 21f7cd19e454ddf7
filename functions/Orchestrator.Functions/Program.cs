using Orchestrator.Functions;
using Orchestrator.Functions.Commands;
using Orchestrator.Shared.Configuration;

// Commands: serve (default) · migrate · demo. See README.md.
var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
try
{
    switch (command)
    {
        case "serve":
        {
            await using var app = OrchestratorApp.Build(rest);
            await app.StartOrchestratorAsync();
            await app.WaitForShutdownAsync();
            return 0;
        }

        case "migrate":
            return await MigrateCommand.RunAsync();
        case "demo":
            return await DemoCommand.RunAsync(rest);
        default:
            await Console.Error.WriteLineAsync($"Unknown command '{command}'. Use: serve | migrate | demo");
            return 2;
    }
}
catch (SettingsException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 3;
}

using Orchestrator.Benchmarks;

var options = BenchOptions.Parse(args, out var error);
if (options is null)
{
    if (error is not null)
    {
        Console.Error.WriteLine(error);
    }

    Console.Error.WriteLine(BenchOptions.Usage);
    return error is null ? 0 : 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Let the finally blocks drop the schemas.
    e.Cancel = true;
    stop.Cancel();
};

return await BenchmarkRun.RunAsync(options, Console.Out, stop.Token);

using AgentHub.Benchmarks;
using AgentHub.Benchmarks.Micro;
using AgentHub.Benchmarks.Throughput;

try
{
    return args switch
    {
        ["micro", .. var rest] => MicroRunner.Run(new BenchArgs(rest)),
        ["audit", .. var rest] => await AuditThroughput.RunAsync(new BenchArgs(rest)),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"AgentHub.Benchmarks: {e.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage: AgentHub.Benchmarks micro [--quick] --out DIR [--filter PATTERN]
               AgentHub.Benchmarks audit --db sqlite|postgres [--postgres CONNSTRING] --writers N [--seconds S] [--quick]
        """);
    return 2;
}

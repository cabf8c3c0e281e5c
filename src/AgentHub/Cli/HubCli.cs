using System.CommandLine;

namespace AgentHub.Cli;

/// <summary>
/// The verbs. Exit codes: 0 success, 1 failure (the hub refused, could not be reached, or could not start),
/// 2 usage error.
/// </summary>
internal static class HubCli
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    public static RootCommand Create()
    {
        var root = new RootCommand("""
            AgentHub: a secure hub for networks of AI agents. Agents register with it and reach each other through it;
            every call is authenticated, checked against a default-deny policy, rate limited and audited.

            'serve' runs the hub; 'migrate' prepares its database; the other verbs manage a running hub over its admin
            API (--hub URL, API key from AGENTHUB_KEY or --key-file).

            Exit codes: 0 success, 1 failure, 2 usage error.
            """);
        root.Subcommands.Add(ServeCommands.Serve());
        root.Subcommands.Add(ServeCommands.Migrate());
        root.Subcommands.Add(KeysCommands.Keys());
        root.Subcommands.Add(KeysCommands.Principals());
        root.Subcommands.Add(KeysCommands.WhoAmI());
        root.Subcommands.Add(AuditCommands.Audit());
        root.Subcommands.Add(CallCommand.Call());
        root.Subcommands.Add(AgentsCommands.Agents());
        root.Subcommands.Add(PolicyCommands.Policy());
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var result = Create().Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync("Run 'agenthub --help' (or '<verb> --help') for usage.");
            return Usage;
        }

        // The hub handles SIGTERM itself (graceful shutdown); the parser must not kill the process first.
        return await result.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
        });
    }
}

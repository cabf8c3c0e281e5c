using AgentHub.Cli;

return await HubCli.RunAsync(args);

/// <summary>The entry point: <c>agenthub</c> is a CLI whose <c>serve</c> verb runs the hub.</summary>
public partial class Program;

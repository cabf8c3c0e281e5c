using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AgentHub.Client;

namespace AgentHub.Cli;

/// <summary><c>policy allow|deny|list|delete|explain</c>: the default-deny rules, over the admin API.</summary>
internal static class PolicyCommands
{
    public static Command Policy()
    {
        var policy = new Command("policy", """
            Manage the policy: which caller may call which agent's A2A methods. Default deny: a call needs a matching
            allow rule, and any matching deny rule beats every allow.
            """);
        HubConnection.AddTo(policy);
        policy.Subcommands.Add(Rule("allow", "Add a rule that allows calls."));
        policy.Subcommands.Add(Rule("deny", "Add a rule that denies calls; it beats every allow rule."));
        policy.Subcommands.Add(List());
        policy.Subcommands.Add(Delete());
        policy.Subcommands.Add(Explain());
        return policy;
    }

    private static Command Rule(string effect, string description)
    {
        var caller = new Option<string>("--caller") { Description = "Who calls: agent:<id>, user:<name>, role:<role> or *", Required = true, HelpName = "CALLER" };
        var agent = new Option<string>("--agent") { Description = "The target agent id, or *", Required = true, HelpName = "AGENT" };
        var methods = new Option<string[]>("--methods")
        {
            Description = "A2A methods, comma-separated (SendMessage,GetTask), or * for every method",
            Required = true,
            HelpName = "METHODS",
            CustomParser = r => [.. r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };
        var note = new Option<string?>("--description") { Description = "A note on why the rule exists", HelpName = "TEXT" };
        var command = new Command(effect, description) { caller, agent, methods, note };
        command.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var rule = await client.CreatePolicyAsync(new CreatePolicyRequest(result.GetValue(caller)!, result.GetValue(agent)!,
                result.GetValue(methods)!, effect, result.GetValue(note)), ct);
            await output.WriteLineAsync(result.GetValue(HubConnection.Json)
                ? JsonSerializer.Serialize(rule, CliJson.Pretty)
                : $"Created rule {rule.Id}: {rule.Effect} {rule.Caller} -> {rule.Agent} [{string.Join(',', rule.Methods)}].");
        }));
        return command;
    }

    private static Command List()
    {
        var caller = new Option<string?>("--caller") { Description = "Only rules for exactly this caller", HelpName = "CALLER" };
        var agent = new Option<string?>("--agent") { Description = "Only rules for exactly this agent", HelpName = "AGENT" };
        var command = new Command("list", "List the policy rules.") { caller, agent };
        command.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var all = await HubConnection.AllPagesAsync(after => client.ListPoliciesAsync(result.GetValue(caller), result.GetValue(agent), after, 200, ct));

            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(all, CliJson.Pretty));
                return;
            }

            await Table.WriteAsync(output, ["ID", "EFFECT", "CALLER", "AGENT", "METHODS", "CREATED", "DESCRIPTION"],
                all.Select(r => new[]
                {
                    r.Id, r.Effect, r.Caller, r.Agent, string.Join(',', r.Methods),
                    r.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture), r.Description ?? "",
                }));
        }));
        return command;
    }

    private static Command Delete()
    {
        var id = new Argument<string>("ID") { Description = "Rule id (pol_…)" };
        var command = new Command("delete", "Delete a rule; it stops applying at once.") { id };
        command.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            await client.DeletePolicyAsync(result.GetValue(id)!, ct);
            await output.WriteLineAsync($"Deleted rule {result.GetValue(id)}.");
        }));
        return command;
    }

    private static Command Explain()
    {
        var caller = new Option<string>("--caller") { Description = "The calling principal: agent:<id> or user:<name>", Required = true, HelpName = "PRINCIPAL" };
        var agent = new Option<string>("--agent") { Description = "The target agent id", Required = true, HelpName = "AGENT" };
        var method = new Option<string>("--method") { Description = "The A2A method, e.g. SendMessage", Required = true, HelpName = "METHOD" };
        var role = new Option<string?>("--role") { Description = "The caller's role, so role: rules apply", HelpName = "ROLE" };
        var command = new Command("explain", "Say whether a call would be allowed, and which rule decides.") { caller, agent, method, role };
        command.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var answer = await client.ExplainPolicyAsync(new ExplainPolicyRequest(result.GetValue(caller)!, result.GetValue(agent)!,
                result.GetValue(method)!, result.GetValue(role)), ct);
            await output.WriteLineAsync(result.GetValue(HubConnection.Json)
                ? JsonSerializer.Serialize(answer, CliJson.Pretty)
                : $"{answer.Decision}: {answer.Reason}");
        }));
        return command;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(PolicyRuleInfo))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<PolicyRuleInfo>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(PolicyExplanation))]
internal sealed partial class PolicyCliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

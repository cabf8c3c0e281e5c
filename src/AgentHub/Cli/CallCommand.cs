using System.CommandLine;
using System.Text.Json;

namespace AgentHub.Cli;

/// <summary><c>agenthub call AGENT TEXT</c>: one A2A <c>SendMessage</c> through the hub; prints the agent's reply text.</summary>
internal static class CallCommand
{
    public static Command Call()
    {
        var agent = new Argument<string>("AGENT") { Description = "Agent id, as registered in the hub" };
        var text = new Argument<string>("TEXT") { Description = "The message text" };
        var command = new Command("call", "Send a message to an agent through the hub (A2A SendMessage) and print its reply.") { agent, text };
        HubConnection.AddTo(command);
        command.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var reply = await client.SendMessageAsync(result.GetValue(agent)!, result.GetValue(text)!, ct);
            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(reply.GetRawText());
                return;
            }

            await output.WriteLineAsync(ReplyText(reply));
        }));
        return command;
    }

    /// <summary>The text of a direct message, or of a task's artifacts (else its status message, else its state).</summary>
    internal static string ReplyText(JsonElement result)
    {
        if (result.TryGetProperty("message", out var message))
        {
            return Texts(message);
        }

        if (result.TryGetProperty("task", out var task))
        {
            if (task.TryGetProperty("artifacts", out var artifacts) && artifacts.ValueKind == JsonValueKind.Array)
            {
                var text = string.Join("\n", artifacts.EnumerateArray().Select(Texts).Where(t => t.Length > 0));
                if (text.Length > 0)
                {
                    return text;
                }
            }

            if (task.TryGetProperty("status", out var status))
            {
                return status.TryGetProperty("message", out var statusMessage) ? Texts(statusMessage)
                    : status.TryGetProperty("state", out var state) ? $"(task {state.GetString()})" : "";
            }
        }

        return result.GetRawText();
    }

    private static string Texts(JsonElement holder) =>
        holder.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array
            ? string.Concat(parts.EnumerateArray().Select(p => p.TryGetProperty("text", out var t) ? t.GetString() : ""))
            : "";
}

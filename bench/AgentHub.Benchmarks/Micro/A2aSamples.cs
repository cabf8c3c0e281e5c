using System.Text;

namespace AgentHub.Benchmarks.Micro;

/// <summary>Request bodies shaped like the relay's traffic: an A2A v1.0 SendMessage of about 1 KB and a GetTask.</summary>
internal static class A2aSamples
{
    public const string AgentPath = "/a2a/travel-planner";

    public static readonly byte[] SendMessage = Encoding.UTF8.GetBytes(SendMessageJson(1024));

    public static readonly byte[] GetTask = Encoding.UTF8.GetBytes("""
        {"jsonrpc":"2.0","id":"req-7f3a9c21","method":"GetTask","params":{"id":"task-5b1e8d4f-2c7a-4e19-9a3b-6d0f8c2e1a77","historyLength":10}}
        """);

    private const string Head = """
        {"jsonrpc":"2.0","id":"req-3c9e1f07","method":"SendMessage","params":{"message":{"role":"ROLE_USER","messageId":"msg-0b6d2f9e-4a81-4c3e-b5d7-91e2a6c4f083","contextId":"ctx-8e2a4c6b-1d3f-4a5e-9b7c-0f1e2d3c4b5a","parts":[{"text":"
        """;

    private const string Tail = """
        "}],"metadata":{"source":"planner-ui","locale":"en-GB"}},"configuration":{"acceptedOutputModes":["text/plain","application/json"],"historyLength":10,"blocking":true}}}
        """;

    /// <summary>A SendMessage request padded with message text to <paramref name="size"/> bytes.</summary>
    public static string SendMessageJson(int size)
    {
        const string Words = "Plan a three-day trip to Lisbon in May for two adults: trains from Porto, a hotel near Alfama under 180 EUR a night, and one day trip to Sintra. ";
        var length = Math.Max(0, size - Head.Length - Tail.Length);
        var text = new StringBuilder(Head, size);
        while (text.Length < Head.Length + length)
        {
            text.Append(Words);
        }

        text.Length = Head.Length + length;
        return text.Append(Tail).ToString();
    }
}

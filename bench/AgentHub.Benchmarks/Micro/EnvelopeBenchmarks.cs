using AgentHub.Relay;
using BenchmarkDotNet.Attributes;

namespace AgentHub.Benchmarks.Micro;

/// <summary>Reading the JSON-RPC envelope of a relay call (method, id, task id, push URL) from the request body.</summary>
[BenchmarkCategory("Envelope")]
public class EnvelopeBenchmarks
{
    private readonly byte[] _sendMessage = A2aSamples.SendMessage;
    private readonly byte[] _getTask = A2aSamples.GetTask;

    [Benchmark]
    public object? ParseSendMessage() => RpcEnvelope.Parse(_sendMessage).Envelope;

    [Benchmark]
    public object? ParseGetTask() => RpcEnvelope.Parse(_getTask).Envelope;
}

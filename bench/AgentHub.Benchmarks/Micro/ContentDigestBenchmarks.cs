using System.Text;
using AgentHub.Client.Signatures;
using BenchmarkDotNet.Attributes;

namespace AgentHub.Benchmarks.Micro;

/// <summary>RFC 9530 <c>Content-Digest</c> (sha-256) of a request body: computing the field and checking it.</summary>
[BenchmarkCategory("ContentDigest")]
public class ContentDigestBenchmarks
{
    private byte[] _body = [];
    private string _field = "";

    [Params(1024, 65_536)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = Encoding.UTF8.GetBytes(A2aSamples.SendMessageJson(Bytes));
        _field = ContentDigest.Compute(_body);
    }

    [Benchmark]
    public string Compute() => ContentDigest.Compute(_body);

    [Benchmark]
    public bool Verify() => ContentDigest.Verify(_field, _body).Success;
}

using System.Security.Cryptography;

namespace AgentHub.Audit;

/// <summary>
/// RFC 9162 Merkle tree hashing: leaf = SHA-256(0x00 ‖ record), node = SHA-256(0x01 ‖ left ‖ right), the tree of n
/// leaves splits at the largest power of two below n. Proofs follow §2.1.3 (inclusion) and §2.1.4 (consistency).
/// </summary>
internal static class Merkle
{
    public static byte[] LeafHash(ReadOnlySpan<byte> record)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(record.Length + 1);
        try
        {
            buffer[0] = 0;
            record.CopyTo(buffer.AsSpan(1));
            return SHA256.HashData(buffer.AsSpan(0, record.Length + 1));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 1;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[33..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>MTH(D[start:end]) over leaf hashes.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leaves, int start, int end)
    {
        var n = end - start;
        if (n == 0)
        {
            return SHA256.HashData([]);
        }

        if (n == 1)
        {
            return leaves[start];
        }

        var k = LargestPowerOfTwoBelow(n);
        return NodeHash(Root(leaves, start, start + k), Root(leaves, start + k, end));
    }

    /// <summary>PATH(m, D[0:n]): the audit path of leaf <paramref name="m"/> in the tree of the first <paramref name="n"/> leaves.</summary>
    public static List<byte[]> InclusionProof(IReadOnlyList<byte[]> leaves, int m, int n)
    {
        var path = new List<byte[]>();
        Path(leaves, m, 0, n, path);
        return path;

        static void Path(IReadOnlyList<byte[]> d, int m, int start, int end, List<byte[]> output)
        {
            var n = end - start;
            if (n <= 1)
            {
                return;
            }

            var k = LargestPowerOfTwoBelow(n);
            if (m < k)
            {
                Path(d, m, start, start + k, output);
                output.Add(Root(d, start + k, end));
            }
            else
            {
                Path(d, m - k, start + k, end, output);
                output.Add(Root(d, start, start + k));
            }
        }
    }

    /// <summary>PROOF(m, D[0:n]): proves the tree of size <paramref name="m"/> is a prefix of the tree of size <paramref name="n"/>.</summary>
    public static List<byte[]> ConsistencyProof(IReadOnlyList<byte[]> leaves, int m, int n)
    {
        var proof = new List<byte[]>();
        if (m > 0 && m < n)
        {
            SubProof(leaves, m, 0, n, true, proof);
        }

        return proof;

        static void SubProof(IReadOnlyList<byte[]> d, int m, int start, int end, bool complete, List<byte[]> output)
        {
            var n = end - start;
            if (m == n)
            {
                if (!complete)
                {
                    output.Add(Root(d, start, end));
                }

                return;
            }

            var k = LargestPowerOfTwoBelow(n);
            if (m <= k)
            {
                SubProof(d, m, start, start + k, complete, output);
                output.Add(Root(d, start + k, end));
            }
            else
            {
                SubProof(d, m - k, start + k, end, false, output);
                output.Add(Root(d, start, start + k));
            }
        }
    }

    public static int LargestPowerOfTwoBelow(int n)
    {
        var k = 1;
        while (k << 1 < n)
        {
            k <<= 1;
        }

        return k;
    }
}

/// <summary>
/// The roots of the perfect subtrees that make up a tree of <see cref="Size"/> leaves (at most 64): enough to append
/// leaves and compute the root without the earlier leaves. Stored with each checkpoint.
/// </summary>
internal sealed class CompactRange
{
    private readonly List<byte[]> _nodes;

    public CompactRange()
        : this(0, [])
    {
    }

    private CompactRange(long size, List<byte[]> nodes)
    {
        Size = size;
        _nodes = nodes;
    }

    public long Size { get; private set; }

    public void Append(byte[] leafHash)
    {
        var hash = leafHash;
        for (var size = Size; (size & 1) == 1; size >>= 1)
        {
            hash = Merkle.NodeHash(_nodes[^1], hash);
            _nodes.RemoveAt(_nodes.Count - 1);
        }

        _nodes.Add(hash);
        Size++;
    }

    public byte[] Root()
    {
        if (_nodes.Count == 0)
        {
            return SHA256.HashData([]);
        }

        var root = _nodes[^1];
        for (var i = _nodes.Count - 2; i >= 0; i--)
        {
            root = Merkle.NodeHash(_nodes[i], root);
        }

        return root;
    }

    public byte[] Serialize() => [.. BitConverter.GetBytes(Size), .. _nodes.SelectMany(n => n)];

    public static CompactRange Deserialize(byte[]? data)
    {
        if (data is null || data.Length < 8)
        {
            return new CompactRange();
        }

        var size = BitConverter.ToInt64(data, 0);
        var nodes = new List<byte[]>();
        for (var offset = 8; offset + 32 <= data.Length; offset += 32)
        {
            nodes.Add(data[offset..(offset + 32)]);
        }

        return new CompactRange(size, nodes);
    }
}

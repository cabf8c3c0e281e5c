using System.Security.Cryptography;

namespace AgentHub.Tests.Audit;

/// <summary>
/// An independent reading of RFC 9162 §2.1 for the tests: tree hash, and the verification algorithms for inclusion
/// (§2.1.3.2) and consistency (§2.1.4.2) proofs. It shares no code with the hub.
/// </summary>
public static class Rfc9162
{
    public static byte[] HashLeaf(byte[] data) => SHA256.HashData([0x00, .. data]);

    public static byte[] HashChildren(byte[] left, byte[] right) => SHA256.HashData([0x01, .. left, .. right]);

    /// <summary>MTH(D[n]) from leaf hashes, straight from the definition.</summary>
    public static byte[] TreeHash(IReadOnlyList<byte[]> leafHashes)
    {
        if (leafHashes.Count == 0)
        {
            return SHA256.HashData(Array.Empty<byte>());
        }

        if (leafHashes.Count == 1)
        {
            return leafHashes[0];
        }

        var k = 1;
        while (k * 2 < leafHashes.Count)
        {
            k *= 2;
        }

        return HashChildren(TreeHash(leafHashes.Take(k).ToList()), TreeHash(leafHashes.Skip(k).ToList()));
    }

    /// <summary>§2.1.3.2: verifying an inclusion proof.</summary>
    public static bool VerifyInclusion(long leafIndex, long treeSize, byte[] leafHash, IReadOnlyList<byte[]> path, byte[] rootHash)
    {
        if (leafIndex >= treeSize)
        {
            return false;
        }

        var fn = leafIndex;
        var sn = treeSize - 1;
        var r = leafHash;
        foreach (var p in path)
        {
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = HashChildren(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = HashChildren(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && r.AsSpan().SequenceEqual(rootHash);
    }

    /// <summary>§2.1.4.2: verifying a consistency proof between first_hash (size first) and second_hash (size second).</summary>
    public static bool VerifyConsistency(long first, long second, byte[] firstHash, byte[] secondHash, IReadOnlyList<byte[]> proof)
    {
        if (first == second)
        {
            return proof.Count == 0 && firstHash.AsSpan().SequenceEqual(secondHash);
        }

        if (first > second || first == 0 || proof.Count == 0)
        {
            return false;
        }

        var path = proof.ToList();
        if ((first & (first - 1)) == 0)
        {
            // first is a power of two: prepend first_hash.
            path.Insert(0, firstHash);
        }

        var fn = first - 1;
        var sn = second - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        var fr = path[0];
        var sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                fr = HashChildren(c, fr);
                sr = HashChildren(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = HashChildren(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && fr.AsSpan().SequenceEqual(firstHash) && sr.AsSpan().SequenceEqual(secondHash);
    }
}

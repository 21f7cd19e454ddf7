using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;
using Npgsql;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>
/// ASP.NET Core Data Protection keys (they protect antiforgery tokens and temp data,
/// https://learn.microsoft.com/aspnet/core/security/data-protection/implementation/key-storage-providers) kept in PostgreSQL
/// (table <c>data_protection_keys</c>), so every replica validates what another issued, and encrypted with the master
/// key (<see cref="MasterKeyXmlEncryptor"/>), so a database dump holds no usable key.
/// </summary>
public static class DataProtectionKeys
{
    /// <summary>Registers Data Protection with the PostgreSQL key ring.</summary>
    /// <param name="services">The container.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddPostgresDataProtection(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("orchestrator");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(o =>
        {
            o.XmlRepository = new PostgresXmlRepository(sp.GetRequiredService<NpgsqlDataSource>());
            o.XmlEncryptor = new MasterKeyXmlEncryptor(sp.GetRequiredService<SecretProtector>());
        }));
        return services;
    }
}

/// <summary>The key ring's storage: one row per key element (<see cref="IXmlRepository"/> is synchronous by design).</summary>
/// <param name="db">The orchestrator database.</param>
public sealed class PostgresXmlRepository(NpgsqlDataSource db) : IXmlRepository
{
    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = db.CreateCommand("SELECT xml FROM data_protection_keys ORDER BY created_at, name");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    /// <inheritdoc />
    public void StoreElement(XElement element, string friendlyName)
    {
        using var command = db.CreateCommand("INSERT INTO data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING");
        command.Parameters.AddWithValue("name", friendlyName);
        command.Parameters.AddWithValue("xml", element.ToString(SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }
}

/// <summary>Encrypts a key's XML with the master key (<see cref="SecretProtector"/>, context <c>data-protection/key</c>).</summary>
/// <param name="protector">The master key.</param>
public sealed class MasterKeyXmlEncryptor(SecretProtector protector) : IXmlEncryptor
{
    /// <summary>The envelope context.</summary>
    internal const string Context = "data-protection/key";

    /// <inheritdoc />
    public EncryptedXmlInfo Encrypt(XElement plaintextElement) =>
        new(new XElement("encryptedKey", protector.Protect(plaintextElement.ToString(SaveOptions.DisableFormatting), Context)), typeof(MasterKeyXmlDecryptor));
}

/// <summary>Decrypts what <see cref="MasterKeyXmlEncryptor"/> wrote (created by Data Protection through its <see cref="IServiceProvider"/> constructor).</summary>
/// <param name="services">The host's services (for <see cref="SecretProtector"/>).</param>
public sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    /// <inheritdoc />
    public XElement Decrypt(XElement encryptedElement) =>
        XElement.Parse(services.GetRequiredService<SecretProtector>().Unprotect(encryptedElement.Value, MasterKeyXmlEncryptor.Context));
}

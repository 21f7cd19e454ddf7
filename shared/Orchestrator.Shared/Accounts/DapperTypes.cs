using System.Data;
using Dapper;

namespace Orchestrator.Shared.Accounts;

/// <summary>
/// Dapper type handlers for Npgsql: <c>timestamptz</c> arrives as a UTC <see cref="DateTime"/>, our records use
/// <see cref="DateTimeOffset"/> (https://www.npgsql.org/doc/types/datetime.html).
/// </summary>
internal static class DapperTypes
{
    private static int _registered;

    /// <summary>Registers the handlers once per process.</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
        }
    }

    private sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override DateTimeOffset Parse(object value) => value switch
        {
            DateTimeOffset offset => offset,
            DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
            _ => throw new DataException($"Cannot read {value.GetType().Name} as a timestamp."),
        };

        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value;
    }
}

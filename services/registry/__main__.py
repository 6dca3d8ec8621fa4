import sys

argv = sys.argv[1:]
if argv and argv[0] == "audit":  # before the heavier imports: auditors run it often
    from services.registry.agencies import cli as audit_cli

    sys.exit(audit_cli.main(argv[1:]))

from services.kit.cli import main  # noqa: E402
from services.registry.identity import cli as identity_cli  # noqa: E402

if argv and argv[0] in identity_cli.COMMANDS:
    sys.exit(identity_cli.main(argv))
try:
    code = main("registry", "services.registry.app:create_app", argv)
except SystemExit:
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "\nidentity commands:\n"
            "  create-admin --phone PHONE [--name NAME] [--password-stdin]\n"
            "                 create an admin account; prints its generated password once\n"
            "  rotate-keys    add a new active token signing key (old keys keep verifying)\n"
            "\nexchange commands:\n"
            "  audit verify   check the hash-chained exchange audit log end to end\n"
            "  audit verify --anchor FILE... [--jwks JWKS]\n"
            "                 also check saved signed pages/exports against the chain\n"
            "  audit verify-file FILE --signature FILE.jws --jwks JWKS\n"
            "                 check a downloaded feed page or export against its signature",
            file=sys.stderr,
        )
    raise
sys.exit(code)

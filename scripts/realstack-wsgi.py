"""Serve one OpenStack WSGI application on loopback with waitress (threaded), for scripts/realstack.

Run with Debian's interpreter: /usr/bin/python3 scripts/realstack-wsgi.py APP PORT [CONFIG ARGS...]
APP is keystone, placement or octavia; the config comes from the environment variables the
applications read themselves (OS_KEYSTONE_CONFIG_FILES, OS_PLACEMENT_CONFIG_DIR) or, for
Octavia, from the remaining arguments (--config-file ...).
"""
import sys

import waitress


def load(name, argv):
    if name == 'keystone':
        from keystone.server.wsgi import initialize_public_application
        return initialize_public_application()
    if name == 'placement':
        from placement.wsgi import init_application
        return init_application()
    if name == 'octavia':
        from octavia.api.app import setup_app
        return setup_app(argv=['octavia-api'] + argv)
    raise SystemExit('unknown application %r' % name)


def main():
    if len(sys.argv) < 3:
        raise SystemExit('usage: realstack-wsgi.py keystone|placement|octavia PORT [ARGS...]')
    name, port, rest = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    # The applications parse sys.argv with oslo.config: leave them only their own arguments.
    sys.argv = [name + '-api'] + rest
    app = load(name, rest)
    print('%s listening on http://127.0.0.1:%d/' % (name, port), flush=True)
    waitress.serve(app, host='127.0.0.1', port=port, threads=8, ident=name, clear_untrusted_proxy_headers=False)


if __name__ == '__main__':
    main()

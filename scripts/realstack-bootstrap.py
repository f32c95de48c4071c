"""Idempotent Keystone catalog, service users and seed resources for scripts/realstack.

Run with Debian's interpreter and openstacksdk: /usr/bin/python3 scripts/realstack-bootstrap.py STEP
with OS_CLIENT_CONFIG_FILE pointing at the admin clouds.yaml and REALSTACK_* settings in the
environment. STEP is `identity` (service project, users, roles, services, endpoints) or `seed`
(flavors, the tiny image, the private network and subnet). Every step looks before it creates,
so re-running is harmless.
"""
import os
import sys

import openstack

CLOUD = os.environ.get('REALSTACK_CLOUD', 'realstack')
REGION = 'RegionOne'
SERVICE_PASSWORD = os.environ['REALSTACK_SERVICE_PASSWORD']
HOST = '127.0.0.1'

# type, name, port, path, service users that need the admin role in the service project
SERVICES = [
    ('compute', 'nova', int(os.environ['REALSTACK_NOVA_PORT']), '/v2.1'),
    ('placement', 'placement', int(os.environ['REALSTACK_PLACEMENT_PORT']), ''),
    ('image', 'glance', int(os.environ['REALSTACK_GLANCE_PORT']), ''),
    ('network', 'neutron', int(os.environ['REALSTACK_NEUTRON_PORT']), ''),
]
if os.environ.get('REALSTACK_OCTAVIA') == '1':
    SERVICES.append(('load-balancer', 'octavia', int(os.environ['REALSTACK_OCTAVIA_PORT']), ''))


def identity(conn):
    domain = conn.identity.find_domain('default')
    project = conn.identity.find_project('service', domain_id=domain.id)
    if project is None:
        project = conn.identity.create_project(name='service', domain_id=domain.id, description='Service project')
    admin_role = conn.identity.find_role('admin')
    for role_name in ('member', 'reader', 'service', 'load-balancer_member', 'load-balancer_admin'):
        if conn.identity.find_role(role_name) is None:
            conn.identity.create_role(name=role_name)
    for _, user_name, _, _ in SERVICES:
        user = conn.identity.find_user(user_name, domain_id=domain.id)
        if user is None:
            user = conn.identity.create_user(name=user_name, password=SERVICE_PASSWORD, domain_id=domain.id)
        else:
            conn.identity.update_user(user, password=SERVICE_PASSWORD)
        conn.identity.assign_project_role_to_user(project, user, admin_role)
        service_role = conn.identity.find_role('service')
        conn.identity.assign_project_role_to_user(project, user, service_role)
    for stype, name, port, path in SERVICES:
        svc = next((s for s in conn.identity.services() if s.type == stype), None)
        if svc is None:
            svc = conn.identity.create_service(name=name, type=stype, enabled=True)
        url = 'http://%s:%d%s' % (HOST, port, path)
        have = {(e.interface, e.url) for e in conn.identity.endpoints(service_id=svc.id)}
        for iface in ('public', 'internal', 'admin'):
            if (iface, url) not in have:
                conn.identity.create_endpoint(service_id=svc.id, interface=iface, url=url, region_id=REGION)


def seed(conn):
    flavors = {f.name for f in conn.compute.flavors()}
    for name, vcpus, ram, disk in (('m1.tiny', 1, 512, 1), ('m1.small', 1, 2048, 20)):
        if name not in flavors:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
    image_name = 'cirros-0.6.2-x86_64-disk'
    if conn.image.find_image(image_name) is None:
        # Through the plain API (openstacksdk's create_image adds owner_specified.* properties
        # of its own). A few bytes stand for the image: the fake compute driver never reads it.
        image = conn.image.post('/images', json={'name': image_name, 'disk_format': 'qcow2', 'container_format': 'bare', 'visibility': 'public', 'os_distro': 'cirros', 'min_disk': 0, 'min_ram': 0}).json()
        conn.image.put('/images/%s/file' % image['id'], data=b'\0' * 1024, headers={'Content-Type': 'application/octet-stream'}).raise_for_status()
    net = conn.network.find_network('private')
    if net is None:
        net = conn.network.create_network(name='private')
    if conn.network.find_subnet('private-subnet') is None:
        conn.network.create_subnet(name='private-subnet', network_id=net.id, ip_version=4, cidr='10.0.0.0/24', gateway_ip='10.0.0.1')


def main():
    step = sys.argv[1] if len(sys.argv) > 1 else ''
    conn = openstack.connect(cloud=CLOUD)
    if step == 'identity':
        identity(conn)
    elif step == 'seed':
        seed(conn)
    else:
        raise SystemExit('usage: realstack-bootstrap.py identity|seed')


if __name__ == '__main__':
    main()

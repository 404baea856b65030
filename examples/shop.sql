-- A small shop for examples/sqlite-connector.yaml: tables with primary and foreign keys, and a view.
create table if not exists customers (
    id integer primary key,
    email varchar(64) not null unique,
    name text,
    joined date default current_date
);
create table if not exists products (sku text primary key, title text not null, price numeric(10, 2) not null);
create table if not exists orders (
    id integer primary key,
    customer_id integer not null references customers (id),
    placed_at timestamp not null default current_timestamp
);
create table if not exists order_lines (
    order_id integer references orders (id),
    line integer,
    sku text references products (sku),
    quantity integer not null default 1,
    primary key (order_id, line)
);
create view if not exists order_totals as
    select o.id as order_id, sum(l.quantity * p.price) as total
    from orders o join order_lines l on l.order_id = o.id join products p on p.sku = l.sku
    group by o.id;

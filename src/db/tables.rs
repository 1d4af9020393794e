//! diesel table definitions for both backends (see migrations/*/).

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    clusters (cluster_id) {
        cluster_id -> Text,
        name -> Text,
        region_code -> Text,
    }
}

diesel::table! {
    clinics (ydernummer) {
        ydernummer -> Text,
        name -> Text,
        region_code -> Text,
        cluster_id -> Nullable<Text>,
        opened_on -> Nullable<Date>,
        closed_on -> Nullable<Date>,
    }
}

diesel::table! {
    patients (cpr) {
        cpr -> Text,
        ydernummer -> Text,
        listed -> Bool,
        birth_date -> Date,
        sex -> Text,
        has_kol -> Bool,
        has_dm2 -> Bool,
        has_ihd -> Bool,
        diagnoses -> Text,
    }
}

diesel::table! {
    plan_versions (plan_id, source, version) {
        source -> Text,
        plan_id -> Text,
        version -> Integer,
        cpr -> Text,
        ydernummer -> Text,
        plan_type -> Text,
        created_at -> BigInt,
        local_date -> Date,
        status -> Text,
        next_control -> Nullable<Date>,
        is_new -> Bool,
        content_hash -> Text,
        goals -> Text,
        measurements -> Text,
    }
}

diesel::table! {
    app_events (cpr, source, plan_id, at, event) {
        cpr -> Text,
        source -> Text,
        plan_id -> Text,
        at -> BigInt,
        event -> Text,
        local_date -> Date,
    }
}

diesel::table! {
    milestones (number) {
        number -> Integer,
        text -> Text,
        planned -> Date,
        reached -> Nullable<Date>,
    }
}

diesel::table! {
    delegations (grantor, delegate) {
        grantor -> Text,
        delegate -> Text,
        scope -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        revoked_on -> Nullable<Date>,
    }
}

diesel::table! {
    patient_entries (seq) {
        seq -> BigInt,
        id -> Text,
        source -> Text,
        plan_id -> Text,
        cpr -> Text,
        author_cpr -> Text,
        author_sub -> Text,
        at -> BigInt,
        kind -> Text,
        goal_text -> Nullable<Text>,
        goal_set_on -> Nullable<Date>,
        reached -> Nullable<Bool>,
        code -> Nullable<Text>,
        value -> Nullable<Double>,
        measured_on -> Nullable<Date>,
        note -> Nullable<Text>,
        withdraws -> Nullable<Text>,
    }
}

diesel::joinable!(clusters -> regions (region_code));
diesel::joinable!(clinics -> regions (region_code));
diesel::joinable!(clinics -> clusters (cluster_id));
diesel::joinable!(patients -> clinics (ydernummer));
diesel::joinable!(plan_versions -> clinics (ydernummer));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    clusters,
    clinics,
    patients,
    plan_versions,
    app_events,
    milestones,
    delegations,
    patient_entries,
);

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> BigInt,
        request_id -> Text,
        actor_role -> Text,
        actor_sub -> Text,
        actor_clinic -> Nullable<Text>,
        subject_cpr -> Text,
        operation -> Nullable<Text>,
        types -> Text,
        client_request_id -> Nullable<Text>,
        client_operation -> Nullable<Text>,
    }
}

diesel::table! {
    data_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    disclosure_cells (day, actor_role, actor_sub, cell) {
        day -> Date,
        actor_role -> Text,
        actor_sub -> Text,
        cell -> Text,
    }
}

diesel::table! {
    question_log (id) {
        id -> BigInt,
        at -> BigInt,
        request_id -> Text,
        actor_role -> Text,
        actor_sub -> Text,
        operation -> Nullable<Text>,
        trusted -> Bool,
        document -> Text,
        variables -> Text,
        cells -> Integer,
        new_cells -> Integer,
        refused -> Bool,
    }
}

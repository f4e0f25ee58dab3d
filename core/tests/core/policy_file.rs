//! Loading a council's policy file: broken variants of Kent's file must fail with an error that names the
//! field at fault, and every inconsistency in a file is reported at once.

use feedback_core::{Policy, PolicyError, PolicyProblem};

/// Kent's file with one exact piece of text replaced; panics if the text is not in the file (so a test
/// cannot pass by breaking nothing).
fn kent_with(from: &str, to: &str) -> String {
    replace(Policy::kent_source(), from, to)
}

fn replace(source: &str, from: &str, to: &str) -> String {
    assert!(source.contains(from), "the policy file has no `{from}`");
    source.replacen(from, to, 1)
}

/// Kent's file without the section between two markers (the first included, the second kept).
fn kent_without(start: &str, end: &str) -> String {
    let source = Policy::kent_source();
    let from = source.find(start).unwrap_or_else(|| panic!("no `{start}`"));
    let to = from
        + source[from..]
            .find(end)
            .unwrap_or_else(|| panic!("no `{end}` after `{start}`"));
    format!("{}{}", &source[..from], &source[to..])
}

fn syntax_error(source: &str) -> String {
    match Policy::load_with_default_cues(source) {
        Ok(_) => panic!("the broken policy loaded"),
        Err(err @ PolicyError::Syntax { .. }) => {
            let PolicyError::Syntax { file, .. } = &err else {
                unreachable!()
            };
            assert_eq!(file, "policy");
            err.to_string()
        }
        Err(err) => panic!("expected a syntax error, got {err}"),
    }
}

fn problems(source: &str) -> Vec<PolicyProblem> {
    match Policy::load_with_default_cues(source) {
        Ok(_) => panic!("the broken policy loaded"),
        Err(PolicyError::Invalid(problems)) => problems,
        Err(err) => panic!("expected an invalid policy, got {err}"),
    }
}

fn has_problem(problems: &[PolicyProblem], field: &str, message_part: &str) -> bool {
    problems
        .iter()
        .any(|p| p.field == field && p.message.contains(message_part))
}

#[test]
fn kents_own_file_loads() {
    let policy = Policy::load_with_default_cues(Policy::kent_source()).unwrap();
    assert_eq!(policy.document.council, "Kent County Council");
    assert_eq!(policy.document, Policy::kent().document);
}

#[test]
fn a_misspelt_key_is_named() {
    let err = syntax_error(&kent_with(
        "escalate_to_director = true",
        "escalate_to_directer = true",
    ));
    assert!(err.contains("escalate_to_directer"), "{err}");
    let err = syntax_error(&kent_with(
        "outside_body = \"lgsco\"",
        "outside_bdy = \"lgsco\"",
    ));
    assert!(err.contains("outside_bdy"), "{err}");
    let err = syntax_error(&kent_with("[calendar]\n", "[calender]\n"));
    assert!(err.contains("calender"), "{err}");
}

#[test]
fn a_wrong_type_names_the_field() {
    let err = syntax_error(&kent_with(
        "escalate_to_director = true",
        "escalate_to_director = \"yes\"",
    ));
    assert!(err.contains("escalate_to_director"), "{err}");
    let err = syntax_error(&kent_with(
        "office_cutoff = \"17:00:00\"",
        "office_cutoff = 17",
    ));
    assert!(err.contains("office_cutoff"), "{err}");
    let err = syntax_error(&kent_with(
        "period = { working_days = 3 }",
        "period = { working_days = \"three\" }",
    ));
    assert!(err.contains("working_days"), "{err}");
}

#[test]
fn an_unknown_enum_value_is_named() {
    let err = syntax_error(&kent_with("from = \"receipt\"", "from = \"reciept\""));
    assert!(err.contains("reciept"), "{err}");
}

#[test]
fn a_missing_procedure_is_named() {
    let source = kent_without(
        "[procedures.fluency_duty]",
        "[procedures.adult_social_care]",
    );
    let problems = problems(&source);
    assert!(
        has_problem(&problems, "procedures.fluency_duty", "missing"),
        "{problems:#?}"
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
}

#[test]
fn a_missing_redirect_exclusion_or_caution_is_named() {
    let source = kent_without("[redirects.damages_claim]", "[redirects.staff_grievance]");
    assert!(has_problem(
        &problems(&source),
        "redirects.damages_claim",
        "missing"
    ));
    let source = kent_without("decided_by_ombudsman = ", "over_twelve_months = ");
    assert!(has_problem(
        &problems(&source),
        "exclusions.decided_by_ombudsman",
        "missing"
    ));
}

#[test]
fn a_reference_to_a_missing_team_is_named() {
    let problems = problems(&kent_with(
        "team = \"adult_social_care\"",
        "team = \"adult_services\"",
    ));
    assert!(
        has_problem(
            &problems,
            "procedures.adult_social_care.team",
            "`adult_services`"
        ),
        "{problems:#?}"
    );

    let problems = self::problems(&kent_with(
        "team_by_directorate = { children_young_people_education = \"childrens\" }",
        "team_by_directorate = { children_young_people_education = \"kids\" }",
    ));
    assert!(
        has_problem(
            &problems,
            "procedures.corporate.team_by_directorate.children_young_people_education",
            "`kids`"
        ),
        "{problems:#?}"
    );

    let problems = self::problems(&kent_with("team = \"insurance\"", "team = \"insurers\""));
    assert!(
        has_problem(&problems, "redirects.damages_claim.team", "`insurers`"),
        "{problems:#?}"
    );
}

#[test]
fn a_reference_to_a_missing_outside_body_is_named() {
    let problems = problems(&kent_with(
        "also = [\"esfa\", \"ofsted\"]",
        "also = [\"esfa\", \"ofstead\"]",
    ));
    assert!(
        has_problem(&problems, "procedures.school", "`ofstead`"),
        "{problems:#?}"
    );
}

#[test]
fn a_zero_day_clock_is_named() {
    // The first clock in the file: the corporate stage 1 acknowledgement.
    let problems = problems(&kent_with(
        "period = { working_days = 3 }",
        "period = { working_days = 0 }",
    ));
    assert!(
        has_problem(
            &problems,
            "procedures.corporate.stages[0].acknowledge.period",
            "at least 1"
        ),
        "{problems:#?}"
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
}

#[test]
fn an_extended_period_shorter_than_the_period_is_named() {
    // The corporate stage 2 reply: 20 working days, extended to 65.
    let problems = problems(&kent_with(
        "extended = { working_days = 65 }",
        "extended = { working_days = 10 }",
    ));
    assert!(
        has_problem(
            &problems,
            "procedures.corporate.stages[1].full_reply.extended",
            "no shorter"
        ),
        "{problems:#?}"
    );
    // An extension in another unit is refused too.
    let problems = self::problems(&kent_with(
        "extended = { working_days = 65 }",
        "extended = { calendar_days = 90 }",
    ));
    assert!(
        has_problem(
            &problems,
            "procedures.corporate.stages[1].full_reply.extended",
            "same unit"
        ),
        "{problems:#?}"
    );
}

#[test]
fn several_problems_are_all_reported() {
    let mut source = kent_without(
        "[procedures.fluency_duty]",
        "[procedures.adult_social_care]",
    );
    source = replace(
        &source,
        "team = \"adult_social_care\"",
        "team = \"adult_services\"",
    );
    source = replace(
        &source,
        "period = { working_days = 3 }",
        "period = { working_days = 0 }",
    );
    source = replace(
        &source,
        "extended = { working_days = 65 }",
        "extended = { working_days = 10 }",
    );
    source = replace(&source, "team = \"insurance\"", "team = \"insurers\"");
    let err = Policy::load_with_default_cues(&source).unwrap_err();
    let PolicyError::Invalid(problems) = &err else {
        panic!("{err}")
    };
    let expected = [
        "procedures.fluency_duty",
        "procedures.adult_social_care.team",
        "procedures.corporate.stages[0].acknowledge.period",
        "procedures.corporate.stages[1].full_reply.extended",
        "redirects.damages_claim.team",
    ];
    for field in expected {
        assert!(
            problems.iter().any(|p| p.field == field),
            "`{field}` not reported in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    // The error message lists them all, with the count.
    let message = err.to_string();
    assert!(message.contains("5 problem"), "{message}");
    for field in expected {
        assert!(message.contains(field), "`{field}` missing from: {message}");
    }
}

#[test]
fn a_cue_file_is_checked_against_the_policy() {
    let cues = "cues = [{ signal = \"praise\", phrases = [\"thanks\", \"!!\"] }]\n\n[areas.nowhere]\nphrases = [\"x\"]\n";
    let err = Policy::load(Policy::kent_source(), cues).unwrap_err();
    let PolicyError::Invalid(problems) = &err else {
        panic!("{err}")
    };
    assert!(
        has_problem(problems, "cues[0].phrases", "`!!`"),
        "{problems:#?}"
    );
    assert!(
        has_problem(problems, "areas.nowhere", "`nowhere`"),
        "{problems:#?}"
    );

    let err = Policy::load(
        Policy::kent_source(),
        "cues = [{ signal = \"no_such_signal\", phrases = [\"x\"] }]\nareas = {}\n",
    )
    .unwrap_err();
    let PolicyError::Syntax { file, message } = &err else {
        panic!("{err}")
    };
    assert_eq!(file, "cues");
    assert!(message.contains("no_such_signal"), "{message}");
}

#[test]
fn a_file_that_is_not_toml_is_a_syntax_error() {
    let err = syntax_error("council = \"Nowhere\"\n[calendar\n");
    assert!(err.contains("policy"), "{err}");
}

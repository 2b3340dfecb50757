//! Realistic random students for `seed`: Chinese and Latin-alphabet names, ages 6–25, scores
//! 0.0–100.0 with one decimal.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::validate::NewStudent;

const CHINESE_FAMILY: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "欧阳", "司马", "上官", "诸葛",
];

const CHINESE_GIVEN: &[&str] = &[
    "小明", "小红", "小军", "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "勇", "艳", "杰",
    "娟", "涛", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "玉兰", "子涵", "欣怡",
    "梓轩", "浩然", "宇轩", "雨涵", "子轩", "一诺", "思远", "佳怡", "俊杰", "嘉怡", "明轩", "晓东",
    "志强", "婷婷", "丹", "鑫", "博文", "天佑", "若曦", "诗涵", "家豪",
];

const LATIN_FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Müller",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Novák",
    "Kowalski",
    "Silva",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Nakamura",
    "Kim",
    "Nguyen",
    "O'Brien",
    "García",
    "Søren",
];

const LATIN_GIVEN: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
    "Amelia", "Mateo", "Chloé", "Léa", "Jonas", "Zoë", "Xiaojun", "Mingren", "Wei", "Jun", "Mei",
    "Hana", "Yuki", "Aiko", "Ana", "José", "Björn", "Ingrid", "Sven", "Anaïs", "Priya", "Ravi",
    "Omar", "Fatima", "Lars", "Nina", "Marco", "Giulia", "Pavel", "Olga",
];

/// Suffixes are drawn from `1..SUFFIX_SPACE`, giving [`NAME_SPACE`] (about 5.2 × 10⁸) distinct
/// names: a million-row seed then sees only about a thousand collisions, which `seed` tops up.
const SUFFIX_SPACE: u32 = 100_000;

/// How many distinct names the generator can ever produce: 523,994,760. Every family and
/// given name pair of each alphabet is a different text, and none holds a digit, so each
/// pair with each suffix is a name of its own (a test checks this).
pub const NAME_SPACE: u64 = ((CHINESE_FAMILY.len() * CHINESE_GIVEN.len()
    + LATIN_GIVEN.len() * LATIN_FAMILY.len()) as u64)
    * (SUFFIX_SPACE as u64 - 1);

/// An endless, optionally reproducible source of random students.
#[derive(Debug)]
pub struct StudentGenerator {
    rng: StdRng,
}

impl StudentGenerator {
    /// Same `seed`, same sequence of students; `None` draws a fresh seed from the OS.
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        StudentGenerator { rng }
    }

    /// The next random student; always passes validation.
    pub fn next_student(&mut self) -> NewStudent {
        let suffix = self.rng.random_range(1..SUFFIX_SPACE);
        let name = if self.rng.random_bool(0.5) {
            let family = pick(&mut self.rng, CHINESE_FAMILY);
            let given = pick(&mut self.rng, CHINESE_GIVEN);
            format!("{family}{given}{suffix}")
        } else {
            let given = pick(&mut self.rng, LATIN_GIVEN);
            let family = pick(&mut self.rng, LATIN_FAMILY);
            format!("{given} {family} {suffix}")
        };
        NewStudent {
            name,
            age: self.rng.random_range(6..=25),
            score: f32::from(self.rng.random_range(0..=1000u16)) / 10.0,
        }
    }
}

fn pick<'a>(rng: &mut StdRng, pool: &[&'a str]) -> &'a str {
    pool[rng.random_range(0..pool.len())]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::validate::{age_rule, name_rule, score_rule};

    #[test]
    fn generated_students_pass_validation_and_stay_in_range() {
        let mut generator = StudentGenerator::new(Some(7));
        let (mut chinese, mut latin) = (0, 0);
        for _ in 0..5_000 {
            let s = generator.next_student();
            assert_eq!(name_rule(&s.name).unwrap(), s.name);
            assert!((6..=25).contains(&s.age));
            assert!((0.0..=100.0).contains(&s.score));
            age_rule(i64::from(s.age)).unwrap();
            score_rule(f64::from(s.score)).unwrap();
            // One decimal: ten times the score is a whole number.
            assert_eq!((s.score * 10.0).round(), s.score * 10.0);
            if s.name.is_ascii() || s.name.contains(' ') {
                latin += 1;
            } else {
                chinese += 1;
            }
        }
        assert!(chinese > 1_000 && latin > 1_000, "{chinese} / {latin}");
    }

    #[test]
    fn name_space_counts_every_distinct_name_exactly() {
        let chinese: HashSet<String> = CHINESE_FAMILY
            .iter()
            .flat_map(|f| CHINESE_GIVEN.iter().map(move |g| format!("{f}{g}")))
            .collect();
        let latin: HashSet<String> = LATIN_GIVEN
            .iter()
            .flat_map(|g| LATIN_FAMILY.iter().map(move |f| format!("{g} {f} ")))
            .collect();
        // Distinct texts: no pair spells another pair's name.
        assert_eq!(chinese.len(), CHINESE_FAMILY.len() * CHINESE_GIVEN.len());
        assert_eq!(latin.len(), LATIN_GIVEN.len() * LATIN_FAMILY.len());
        assert!(chinese.is_disjoint(&latin));
        // No digit in any part: where the suffix starts is unambiguous, so prefix and suffix
        // together never repeat a name (suffixes have no leading zeros).
        for part in [CHINESE_FAMILY, CHINESE_GIVEN, LATIN_FAMILY, LATIN_GIVEN].concat() {
            assert!(!part.contains(|c: char| c.is_ascii_digit()), "{part}");
        }
        let pairs = (chinese.len() + latin.len()) as u64;
        assert_eq!(NAME_SPACE, pairs * u64::from(SUFFIX_SPACE - 1));
        assert_eq!(NAME_SPACE, 523_994_760);
        // Every generated name is one of them: a known prefix and a suffix in range.
        let mut generator = StudentGenerator::new(Some(3));
        for _ in 0..2_000 {
            let name = generator.next_student().name;
            let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
            let prefix = &name[..name.len() - digits.len()];
            let suffix: u32 = digits.parse().unwrap();
            assert!((1..SUFFIX_SPACE).contains(&suffix), "{name}");
            assert!(!digits.starts_with('0'), "{name}");
            assert!(chinese.contains(prefix) || latin.contains(prefix), "{name}");
        }
    }

    #[test]
    fn same_seed_same_students() {
        let a: Vec<_> = {
            let mut g = StudentGenerator::new(Some(42));
            (0..20).map(|_| g.next_student()).collect()
        };
        let mut g = StudentGenerator::new(Some(42));
        let b: Vec<_> = (0..20).map(|_| g.next_student()).collect();
        assert_eq!(a, b);
        let mut g = StudentGenerator::new(Some(43));
        let c: Vec<_> = (0..20).map(|_| g.next_student()).collect();
        assert_ne!(a, c);
    }
}
